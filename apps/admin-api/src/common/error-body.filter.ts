import { STATUS_CODES } from 'node:http';
import { Catch, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { ArgumentsHost, ExceptionFilter } from '@nestjs/common';
import { DomainError } from '@odtp/errors';
import { EJSON } from 'bson';
import { MongoServerError } from 'mongodb';
import type { NextFunction, Request, Response } from 'express';
import type { ErrorBodyDto } from './error-body.dto';

interface BodyParserError {
  type: string;
  status: number;
}

/**
 * An error of the body parsers: a `type` they set, or (a body that does not decompress) a zlib error they pass on
 * with a 4xx status, typed here as `encoding.invalid`.
 */
export function isBodyParserError(e: unknown): e is BodyParserError {
  if (typeof e !== 'object' || e === null || typeof (e as BodyParserError).status !== 'number') return false;
  const err = e as BodyParserError & { code?: unknown; expose?: unknown };
  if (typeof err.type === 'string') return true;
  if (typeof err.code === 'string' && err.code.startsWith('Z_') && err.status >= 400 && err.status < 500) {
    err.type = 'encoding.invalid';
    return true;
  }
  return false;
}

/** The deepest nesting of arrays and objects a JSON body may have (the API's bodies need 3). */
export const MAX_BODY_DEPTH = 32;

const BODY_PARSER_MESSAGES: Record<string, string> = {
  'entity.parse.failed': 'Malformed JSON in request body',
  'entity.too.deep': `Request body is nested too deeply (at most ${MAX_BODY_DEPTH} levels of arrays and objects)`,
  'entity.too.large': 'Request body is too large',
  'encoding.unsupported': 'Unsupported request body encoding',
  'encoding.invalid': 'Invalid request body encoding',
  'charset.unsupported': 'Unsupported request body charset',
};

/** MongoDB's MaxTimeMSExpired: a query ran past the time limit the API gave it (QUERY_TIMEOUT_MS). */
function isQueryTimeout(e: unknown): boolean {
  return e instanceof MongoServerError && e.code === 50;
}

/** Map any thrown value to `{statusCode, error, message, details?}`; never exposes stack traces. */
export function toErrorBody(exception: unknown, options: { queryTimeoutMs?: number } = {}): ErrorBodyDto {
  if (isQueryTimeout(exception)) {
    const status = HttpStatus.GATEWAY_TIMEOUT;
    return {
      statusCode: status,
      error: STATUS_CODES[status]!,
      message: `the query ran longer than QUERY_TIMEOUT_MS${options.queryTimeoutMs ? ` (${options.queryTimeoutMs} ms)` : ''} and was stopped: narrow it (a filter, a sort an index serves) or ask the operator to raise QUERY_TIMEOUT_MS`,
      details: [{ code: 'QUERY_TIMEOUT' }],
    };
  }
  if (exception instanceof DomainError) {
    const status = exception.httpStatus;
    return {
      statusCode: status,
      error: STATUS_CODES[status] ?? 'Error',
      message: exception.message,
      ...(Array.isArray(exception.details)
        ? { details: exception.details }
        : exception.details
          ? {
              details: [
                {
                  code: exception.code,
                  ...(EJSON.serialize(exception.details, { relaxed: true }) as object),
                },
              ],
            }
          : {}),
    };
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const response = exception.getResponse();
    const body: ErrorBodyDto = {
      statusCode: status,
      error: STATUS_CODES[status] ?? 'Error',
      message: exception.message,
    };
    if (typeof response === 'object' && response !== null) {
      const r = response as { message?: unknown; details?: unknown };
      if (Array.isArray(r.message)) {
        body.message = 'Validation failed';
        body.details = r.message;
      } else if (typeof r.message === 'string') body.message = r.message;
      if (Array.isArray(r.details)) body.details = r.details;
    } else if (typeof response === 'string') body.message = response;
    return body;
  }
  if (isBodyParserError(exception) && exception.status >= 400 && exception.status < 500) {
    const status = exception.status;
    return {
      statusCode: status,
      error: STATUS_CODES[status] ?? 'Error',
      message: BODY_PARSER_MESSAGES[exception.type] ?? 'Invalid request body',
    };
  }
  const status = HttpStatus.INTERNAL_SERVER_ERROR;
  return { statusCode: status, error: STATUS_CODES[status]!, message: 'Internal server error' };
}

@Catch()
export class ErrorBodyFilter implements ExceptionFilter {
  private readonly logger = new Logger('ErrorBodyFilter');

  constructor(private readonly options: { queryTimeoutMs?: number } = {}) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const body = toErrorBody(exception, this.options);
    if (body.statusCode >= 500) {
      this.logger.error(
        exception instanceof Error ? (exception.stack ?? exception.message) : String(exception),
      );
    }
    if (response.headersSent) return;
    response.status(body.statusCode).json(body);
  }
}

/**
 * The JSON body parser's `verify`: refuses a body nested deeper than MAX_BODY_DEPTH before it is parsed (a bracket
 * count outside strings, in one pass), so no later step (validation, transformation) recurses through it.
 */
export function verifyJsonDepth(_req: unknown, _res: unknown, buf: Buffer): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_BODY_DEPTH)
        throw Object.assign(new Error('body nested too deeply'), { type: 'entity.too.deep', status: 400 });
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
}

/**
 * Express error middleware for the body parsers, mounted right after them: their errors get the fixed messages
 * of toErrorBody (Nest would turn a JSON syntax error into a 400 carrying the parser's own text).
 */
export function bodyParserErrors(err: unknown, _req: Request, res: Response, next: NextFunction): void {
  if (!isBodyParserError(err)) return next(err);
  const body = toErrorBody(err);
  res.status(body.statusCode).json(body);
}
