import { STATUS_CODES } from 'node:http';
import { Catch, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { ArgumentsHost, ExceptionFilter } from '@nestjs/common';
import { DomainError } from '@odtp/errors';
import { EJSON } from 'bson';
import type { NextFunction, Request, Response } from 'express';
import type { ErrorBodyDto } from './error-body.dto';

interface BodyParserError {
  type: string;
  status: number;
}

export function isBodyParserError(e: unknown): e is BodyParserError {
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as BodyParserError).type === 'string' &&
    typeof (e as BodyParserError).status === 'number'
  );
}

const BODY_PARSER_MESSAGES: Record<string, string> = {
  'entity.parse.failed': 'Malformed JSON in request body',
  'entity.too.large': 'Request body is too large',
  'encoding.unsupported': 'Unsupported request body encoding',
  'charset.unsupported': 'Unsupported request body charset',
};

/** Map any thrown value to `{statusCode, error, message, details?}`; never exposes stack traces. */
export function toErrorBody(exception: unknown): ErrorBodyDto {
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

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const body = toErrorBody(exception);
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
 * Express error middleware for the body parsers, mounted right after them: their errors get the fixed messages
 * of toErrorBody (Nest would turn a JSON syntax error into a 400 carrying the parser's own text).
 */
export function bodyParserErrors(err: unknown, _req: Request, res: Response, next: NextFunction): void {
  if (!isBodyParserError(err)) return next(err);
  const body = toErrorBody(err);
  res.status(body.statusCode).json(body);
}
