/**
 * Why a server ends a live connection: the table lives in static/js/protocol.js, which the browser
 * client follows too; this module gives it the server's types.
 */
import { CLOSE_REASONS as TABLE } from "../../static/js/protocol.js";

export interface CloseReason {
  name: string;
  /** WebSocket close code. */
  code: number;
  reconnect: boolean;
  message: string;
}

export const CLOSE_REASONS = TABLE satisfies Record<string, CloseReason>;
