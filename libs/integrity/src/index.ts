export { CHECKS, FindingCollector, idKey, SEVERITY } from './findings';
export type { AuditReport, AuditSummary, CheckName, Finding, Severity, Violation } from './findings';
export { AuditCancelledError, runAudit } from './auditor';
export type { AuditOptions } from './auditor';
export { valuesAt } from './values';
export { newFindings, pageFindings, REPORTS_COLLECTION, ReportStore, toJunit } from './report-store';
export type { Page } from './report-store';
export {
  JOURNAL_COLLECTION,
  ORPHAN_POLICIES,
  planRepairs,
  repair,
  REPAIR_KINDS,
  RepairError,
  undoRepair,
} from './repair';
export type { OrphanPolicy, RepairAction, RepairKind, RepairOptions, RepairRun } from './repair';
export {
  IntegrityError,
  IntegrityErrorCode,
  IntegrityModule,
  IntegritySchedule,
  IntegrityScheduleModule,
  IntegrityService,
  postWebhook,
  WEBHOOK_SENDER,
} from './integrity.service';
export type { AuditJob, AuditRequest, AuditTrigger, WebhookSender } from './integrity.service';
