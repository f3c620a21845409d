/** Why a browse request cannot be answered (mapped to HTTP by the admin API). */
export enum BrowseErrorCode {
  UnknownCollection = 'UNKNOWN_COLLECTION',
  UnknownDocument = 'UNKNOWN_DOCUMENT',
  BadRequest = 'BAD_REQUEST',
}

export class BrowseError extends Error {
  constructor(
    readonly code: BrowseErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'BrowseError';
  }
}

export const badRequest = (message: string): BrowseError =>
  new BrowseError(BrowseErrorCode.BadRequest, message);
