export { CHECKS, FAIL_ON_LEVELS, FindingCollector, idKey, SEVERITIES, SEVERITY } from './findings';
export type { AuditReport, AuditSummary, CheckName, FailOn, Finding, Severity, Violation } from './findings';
export { AuditCancelledError, runAudit } from './auditor';
export type { AuditOptions } from './auditor';
export {
  newFindings,
  pageFindings,
  REPORTS_COLLECTION,
  ReportStore,
  toJunit,
  trendPoint,
} from './report-store';
export type { Page, TrendPoint } from './report-store';
export { renderHtmlReport } from './html-report';
export type { HtmlReportOptions } from './html-report';
export { edgeStates, STATUS_COLOURS } from './report-graph';
export type { EdgeState, EdgeStatus } from './report-graph';
export { describeRepair, ORPHAN_POLICIES, REPAIR_KINDS, REPAIR_RULES } from './repair-rules';
export type { OrphanPolicy, RepairAction, RepairKind } from './repair-rules';
export { planRepairs, repair } from './repair';
export { RepairCancelledError } from './repair-apply';
export {
  JOURNAL_COLLECTION,
  REPAIR_ERROR_CODES,
  RepairError,
  RepairJournal,
  RUNS_COLLECTION,
  undoRepair,
} from './journal';
export type { RepairErrorCode, UndoConflict, UndoResult } from './journal';
export type { RepairOptions, RepairRun } from './repair';
export { AUDIT_TRIGGERS, JOB_STATUSES, RepairRunStore, STORED_ACTIONS_LIMIT } from './repair-runs';
export type { AuditTrigger, JobStatus, RepairRunRecord, RepairRunSummary } from './repair-runs';
export {
  IntegrityError,
  IntegrityErrorCode,
  IntegrityModule,
  IntegritySchedule,
  IntegrityScheduleModule,
  IntegrityService,
  postWebhook,
  publicJobError,
  WEBHOOK_SENDER,
} from './integrity.service';
export type { AuditJob, AuditRequest, RepairRequest, WebhookSender } from './integrity.service';
