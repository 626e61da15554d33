/** The error catalog: every error remediator raises has a stable code, an HTTP status and a retryable flag. */

export const ERROR_CATALOG = {
  BAD_JSON: { httpStatus: 400, retryable: false },
  BAD_PAYLOAD: { httpStatus: 400, retryable: false },
  UNSUPPORTED_VERSION: { httpStatus: 400, retryable: false },
  BAD_REQUEST: { httpStatus: 400, retryable: false },
  BAD_ENCODING: { httpStatus: 400, retryable: false },
  UNAUTHORIZED: { httpStatus: 401, retryable: false },
  FORBIDDEN: { httpStatus: 403, retryable: false },
  CROSS_SITE: { httpStatus: 403, retryable: false },
  NOT_FOUND: { httpStatus: 404, retryable: false },
  CONFLICT: { httpStatus: 409, retryable: false },
  BODY_TOO_LARGE: { httpStatus: 413, retryable: false },
  UNSUPPORTED_MEDIA_TYPE: { httpStatus: 415, retryable: false },
  HOST_NOT_ALLOWED: { httpStatus: 421, retryable: false },
  STORE_UNAVAILABLE: { httpStatus: 503, retryable: true },
  SHUTTING_DOWN: { httpStatus: 503, retryable: true },
  NOT_READY: { httpStatus: 503, retryable: true },
  RELOAD_FAILED: { httpStatus: 422, retryable: false },
  CONFIG_INVALID: { httpStatus: 500, retryable: false },
  RUNBOOK_INVALID: { httpStatus: 422, retryable: false },
  STORE_LOCKED: { httpStatus: 500, retryable: false },
  SPAWN_FAILED: { httpStatus: 500, retryable: false },
  INTERNAL: { httpStatus: 500, retryable: false },
} as const;

export type ErrorCode = keyof typeof ERROR_CATALOG;

/** An error with a stable code; the original error, when there is one, is kept as `cause`. */
export class RemediatorError extends Error {
  readonly code: ErrorCode;
  readonly httpStatus: number;
  readonly retryable: boolean;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RemediatorError';
    this.code = code;
    this.httpStatus = ERROR_CATALOG[code].httpStatus;
    this.retryable = ERROR_CATALOG[code].retryable;
    this.details = options.details;
  }

  /** The JSON body the HTTP API answers with. */
  toBody(): { error: { code: ErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

/** Turns whatever was thrown into an Error, so catch blocks never handle strings or plain objects. */
export function toError(thrown: unknown): Error {
  // Errors made in another realm (a vm context, a native addon) fail instanceof but are still errors.
  if (thrown instanceof Error || Object.prototype.toString.call(thrown) === '[object Error]') return thrown as Error;
  return new Error(typeof thrown === 'string' ? thrown : JSON.stringify(thrown));
}
