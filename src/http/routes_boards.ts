/**
 * REST for boards, members, lists and tasks: thin handlers over `Actions`. Every mutation takes
 * an optional `Idempotency-Key` header (see src/idempotency.ts).
 */
import { Hono } from "hono";
import { parseIdempotencyKey } from "../idempotency.ts";
import { badRequest } from "../errors.ts";
import { largeJson } from "./compression.ts";

/** A seq in a path: a whole number, or 400 naming it. */
function parseSeq(text: string): number {
  if (!/^\d{1,15}$/.test(text)) {
    throw badRequest("validation_failed", 'Invalid "seq": must be a seq (a whole number)');
  }
  return Number(text);
}
import { type AppContext, type AppEnv, jsonBody, type Services } from "./context.ts";

export function boardRoutes(services: Services): Hono<AppEnv> {
  const { actions } = services;
  const app = new Hono<AppEnv>();
  const body = (c: Parameters<typeof jsonBody>[0]) => jsonBody(c, services);
  const key = (c: AppContext) => parseIdempotencyKey(c.req.header("idempotency-key"));

  // Boards.
  app.get("/boards", async (c) => largeJson(c, await actions.listBoards(c.get("caller"))));
  app.post(
    "/boards",
    async (c) => c.json(await actions.createBoard(c.get("caller"), await body(c), key(c)), 201),
  );
  app.get(
    "/boards/:id",
    async (c) => largeJson(c, await actions.getBoard(c.get("caller"), c.req.param("id"))),
  );
  app.patch(
    "/boards/:id",
    async (c) =>
      c.json(await actions.renameBoard(c.get("caller"), c.req.param("id"), await body(c), key(c))),
  );
  app.delete(
    "/boards/:id",
    async (c) => c.json(await actions.deleteBoard(c.get("caller"), c.req.param("id"), key(c))),
  );

  // Members.
  app.get(
    "/boards/:id/members",
    async (c) => c.json(await actions.listMembers(c.get("caller"), c.req.param("id"))),
  );
  app.post(
    "/boards/:id/members",
    async (c) =>
      c.json(
        await actions.addMember(c.get("caller"), c.req.param("id"), await body(c), key(c)),
        201,
      ),
  );
  app.delete("/boards/:id/members/:userId", async (c) =>
    c.json(
      await actions.removeMember(
        c.get("caller"),
        c.req.param("id"),
        c.req.param("userId"),
        key(c),
      ),
    ));

  // Lists.
  app.post(
    "/boards/:id/lists",
    async (c) =>
      c.json(
        await actions.createList(c.get("caller"), c.req.param("id"), await body(c), key(c)),
        201,
      ),
  );
  app.patch(
    "/lists/:id",
    async (c) =>
      c.json(await actions.updateList(c.get("caller"), c.req.param("id"), await body(c), key(c))),
  );
  app.delete(
    "/lists/:id",
    async (c) => c.json(await actions.deleteList(c.get("caller"), c.req.param("id"), key(c))),
  );

  // Tasks.
  app.get(
    "/boards/:id/tasks",
    async (c) => largeJson(c, await actions.listTasks(c.get("caller"), c.req.param("id"))),
  );
  app.post(
    "/tasks",
    async (c) => c.json(await actions.createTask(c.get("caller"), await body(c), key(c)), 201),
  );
  app.get(
    "/tasks/:id",
    async (c) => c.json(await actions.getTask(c.get("caller"), c.req.param("id"))),
  );
  app.patch(
    "/tasks/:id",
    async (c) =>
      c.json(await actions.updateTask(c.get("caller"), c.req.param("id"), await body(c), key(c))),
  );
  app.patch(
    "/tasks/:id/move",
    async (c) =>
      c.json(await actions.moveTask(c.get("caller"), c.req.param("id"), await body(c), key(c))),
  );
  app.delete(
    "/tasks/:id",
    async (c) => c.json(await actions.deleteTask(c.get("caller"), c.req.param("id"), key(c))),
  );

  // History, trash and undo (src/revert.ts).
  app.get(
    "/boards/:id/history",
    async (c) =>
      largeJson(c, await actions.history(c.get("caller"), c.req.param("id"), c.req.query())),
  );
  app.get(
    "/boards/:id/trash",
    async (c) =>
      largeJson(c, await actions.trash(c.get("caller"), c.req.param("id"), c.req.query())),
  );
  app.post(
    "/tasks/:id/restore",
    async (c) => c.json(await actions.restoreTask(c.get("caller"), c.req.param("id"), key(c))),
  );
  app.post(
    "/lists/:id/restore",
    async (c) => c.json(await actions.restoreList(c.get("caller"), c.req.param("id"), key(c))),
  );
  // Archive: cards and lists off the board, kept and searchable until unarchived.
  app.get(
    "/boards/:id/archive",
    async (c) =>
      largeJson(c, await actions.archive(c.get("caller"), c.req.param("id"), c.req.query())),
  );
  app.post(
    "/tasks/:id/archive",
    async (c) => c.json(await actions.archiveTask(c.get("caller"), c.req.param("id"), key(c))),
  );
  app.post(
    "/tasks/:id/unarchive",
    async (c) => c.json(await actions.unarchiveTask(c.get("caller"), c.req.param("id"), key(c))),
  );
  app.post(
    "/lists/:id/archive",
    async (c) => c.json(await actions.archiveList(c.get("caller"), c.req.param("id"), key(c))),
  );
  app.post(
    "/lists/:id/unarchive",
    async (c) => c.json(await actions.unarchiveList(c.get("caller"), c.req.param("id"), key(c))),
  );
  // Conflicts: values that lost a concurrent edit, kept on their card until resolved.
  app.post("/tasks/:id/conflicts", async (c) =>
    c.json(
      await actions.recordConflict(c.get("caller"), c.req.param("id"), await body(c), key(c)),
      201,
    ));
  app.delete(
    "/conflicts/:id",
    async (c) => c.json(await actions.resolveConflict(c.get("caller"), c.req.param("id"), key(c))),
  );
  app.post("/boards/:id/events/:seq/revert", async (c) => {
    const seq = c.req.param("seq");
    return c.json(
      await actions.revert(
        c.get("caller"),
        c.req.param("id"),
        parseSeq(seq),
        key(c),
      ),
    );
  });
  app.put(
    "/boards/:id/seen",
    async (c) => c.json(await actions.markSeen(c.get("caller"), c.req.param("id"), await body(c))),
  );

  return app;
}
