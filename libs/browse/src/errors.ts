import { DomainError, HTTP } from '@odtp/errors';

/** Why a browse request cannot be answered (mapped to HTTP by the admin API). */
export enum BrowseErrorCode {
  UnknownCollection = 'UNKNOWN_COLLECTION',
  UnknownDocument = 'UNKNOWN_DOCUMENT',
  BadRequest = 'BAD_REQUEST',
}

export class BrowseError extends DomainError {
  declare readonly code: BrowseErrorCode;

  constructor(code: BrowseErrorCode, message: string) {
    super(
      {
        code,
        httpStatus: code === BrowseErrorCode.BadRequest ? HTTP.badRequest : HTTP.notFound,
        exitCode: 2,
      },
      message,
    );
  }
}

export const badRequest = (message: string): BrowseError =>
  new BrowseError(BrowseErrorCode.BadRequest, message);
