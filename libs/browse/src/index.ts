export { BrowseModule, BrowseService, DEFAULT_LIMIT, MAX_LIMIT, SORT_ORDERS } from './browse.service';
export type {
  CollectionSummary,
  DocumentPage,
  DocumentView,
  IncomingReferences,
  ListQuery,
  OutgoingReference,
  SortOrder,
} from './browse.service';
export { badRequest, BrowseError, BrowseErrorCode } from './errors';
export { convertValue, fieldsOf } from './query-params';
export type { FieldInfo } from './query-params';
