export { DomainError, HTTP } from './domain-error';
export type { ErrorReport } from './domain-error';
