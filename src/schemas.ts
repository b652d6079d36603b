/**
 * Input shapes for every mutation, shared by REST bodies and WebSocket messages, and the one
 * `parseInput` that turns a zod failure into a 400 naming the field. Unknown fields are refused,
 * so a typo is an error rather than a silent no-op.
 */
import { z } from "zod";
import { NAME_MAX, textProblem, TITLE_MAX } from "../static/js/text_rules.js";
import { badRequest } from "./errors.ts";

// Control characters, C0 and C1 (NUL cuts text short in SQLite and in many clients), and lone
// surrogates are refused rather than stored; descriptions may hold line breaks and tabs, titles
// not even Unicode line separators.
// deno-lint-ignore no-control-regex -- matching control characters is the point
const ONE_LINE = /^[^\u0000-\u001f\u007f-\u009f\u2028\u2029]*$/;
// deno-lint-ignore no-control-regex -- as above, less line breaks and tabs
const MULTI_LINE = /^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$/;
const wellFormed = (text: string) => text.isWellFormed();
const BAD_UNICODE = "must be well-formed Unicode (no lone surrogates)";

/** A single line of text: no control characters, well-formed. */
const line = () =>
  z.string()
    .regex(ONE_LINE, "must not contain control characters")
    .refine(wellFormed, BAD_UNICODE);

/**
 * A title or a name: one line, trimmed, then the client's own rules (static/js/text_rules.js:
 * lengths in UTF-16 code units, something visible, no bidirectional overrides).
 */
const shortText = (max: number) =>
  line().trim().superRefine((text, context) => {
    const problem = textProblem(text, max);
    if (problem) context.addIssue({ code: "custom", message: problem });
  });
const title = shortText(TITLE_MAX);
const description = z.string()
  .max(10_000, "must be at most 10000 characters")
  .regex(MULTI_LINE, "must not contain control characters other than line breaks and tabs")
  .refine(wellFormed, BAD_UNICODE);
const id = z.string().min(1).max(100);
const position = z.number().int("must be a whole number").min(0, "must be 0 or more").max(
  1_000_000,
);
/** Versions are 32-bit in PostgreSQL: a larger one is refused here rather than by the database. */
const version = z.number().int().min(1).max(2_147_483_647);

export const createBoardSchema = z.strictObject({ title });
export const renameBoardSchema = z.strictObject({ title });
export const addMemberSchema = z.strictObject({ email: z.email().max(254) });
export const createListSchema = z.strictObject({ title, position: position.optional() });
export const updateListSchema = z.strictObject({
  title: title.optional(),
  position: position.optional(),
})
  .refine((v) => v.title !== undefined || v.position !== undefined, "give a title or a position");
export const createTaskSchema = z.strictObject({
  listId: id,
  title,
  description: description.optional(),
  assigneeId: id.nullable().optional(),
  position: position.optional(),
});
export const updateTaskSchema = z.strictObject({
  title: title.optional(),
  description: description.optional(),
  assigneeId: id.nullable().optional(),
  version: version.optional(),
}).refine(
  (v) => v.title !== undefined || v.description !== undefined || v.assigneeId !== undefined,
  "give at least one of title, description, assigneeId",
);
export const moveTaskSchema = z.strictObject({ listId: id, position, version: version.optional() });
export const loginSchema = z.strictObject({
  email: z.string().trim().min(1).max(254),
  password: z.string().min(1).max(1024),
});
export const resetPasswordSchema = z.strictObject({
  password: z.string().min(8, "must be at least 8 characters").max(1024),
});
export const signupSchema = z.strictObject({
  email: z.email().max(254),
  name: shortText(NAME_MAX),
  password: z.string().min(8, "must be at least 8 characters").max(1024),
});

/** A seq in a query string: a whole number. */
const seqParam = z.string().regex(/^\d{1,15}$/, "must be a seq (a whole number)").transform(Number);
/** How many history events one page may hold. */
export const HISTORY_PAGE_MAX = 200;
export const historyQuerySchema = z.strictObject({
  before: seqParam.optional(),
  after: seqParam.optional(),
  limit: z.string().regex(/^\d{1,4}$/, `must be a whole number from 1 to ${HISTORY_PAGE_MAX}`)
    .transform(Number)
    .pipe(z.number().min(1).max(HISTORY_PAGE_MAX, `must be at most ${HISTORY_PAGE_MAX}`))
    .optional(),
  taskId: id.optional(),
  listId: id.optional(),
  actorId: id.optional(),
}).refine((q) => !(q.taskId && q.listId), "give taskId or listId, not both");
/** A value that lost a concurrent edit, kept on its card (the same rules as a description). */
export const recordConflictSchema = z.strictObject({
  field: z.enum(["title", "description"]),
  value: description,
  baseVersion: version,
});
/** How many trash or archive items one page may hold. */
export const SHELF_PAGE_MAX = 100;
const shelfPage = {
  before: seqParam.optional(),
  limit: z.string().regex(/^\d{1,4}$/, `must be a whole number from 1 to ${SHELF_PAGE_MAX}`)
    .transform(Number)
    .pipe(z.number().min(1).max(SHELF_PAGE_MAX, `must be at most ${SHELF_PAGE_MAX}`))
    .optional(),
};
export const trashQuerySchema = z.strictObject(shelfPage);
export const archiveQuerySchema = z.strictObject({
  ...shelfPage,
  q: z.string().max(200, "must be at most 200 characters").optional(),
});
export const seenSchema = z.strictObject({
  cursor: z.number().int("must be a whole number").min(0).max(Number.MAX_SAFE_INTEGER),
});

/** Validates `input` against `schema`; a failure is a 400 `validation_failed` naming the field. */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue.path.join(".");
  const message = issue.code === "unrecognized_keys"
    ? `Unknown field ${issue.keys.map((k) => `"${k}"`).join(", ")}`
    : field
    ? `Invalid "${field}": ${issue.message}`
    : `Invalid input: ${issue.message.replace(/^Invalid input: /, "")}`;
  throw badRequest("validation_failed", message);
}
