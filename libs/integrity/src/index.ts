export { CHECKS, FAIL_ON_LEVELS, FindingCollector, idKey, SEVERITIES, SEVERITY } from './findings';
export type { AuditReport, AuditSummary, CheckName, FailOn, Finding, Severity, Violation } from './findings';
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
  AUDIT_TRIGGERS,
  IntegrityError,
  IntegrityErrorCode,
  JOB_STATUSES,
  IntegrityModule,
  IntegritySchedule,
  IntegrityScheduleModule,
  IntegrityService,
  postWebhook,
  WEBHOOK_SENDER,
} from './integrity.service';
export type { AuditJob, AuditRequest, AuditTrigger, JobStatus, WebhookSender } from './integrity.service';
