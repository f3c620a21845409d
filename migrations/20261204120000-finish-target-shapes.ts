import {
  defineMigration,
  foldReference,
  mergeCamelCaseTimestamps,
  referencesToObjectId,
  refuseWhileLegacyWriters,
} from '@odtp/migrations';

/**
 * The end of the upgrade from ODTP 0.5 (ODTP_APP=target): what the transition left in the older forms becomes the
 * target shape. Both-forms pairs fold into their ObjectId, id strings (ODTP 0.5's writes during the transition,
 * workflows.versions) become ObjectIds, createdAt/updatedAt and dt_id written meanwhile are folded. Refused while
 * an ODTP 0.5 client is seen writing (UPGRADE_WRITER_WINDOW_S): its string queries would find nothing any more.
 */
const PATHS = {
  digitalTwins: ['userRef'],
  workflows: ['versions'],
  executions: ['workflow_id', 'workflowSchema.component_versions'],
  steps: ['component_version'],
  outputs: ['stepRef', 'access_control.authorized_users'],
  logs: ['stepRef'],
} as const;

export const { description, transactional, affects, irreversible, up, down, plan } = defineMigration({
  description: 'the end of the upgrade: the forms ODTP 0.5 and the transition wrote -> the target shapes',
  affects: [
    ...Object.entries(PATHS).flatMap(([collection, paths]) =>
      paths.map((path) => ({
        collection: collection as keyof typeof PATHS,
        path,
        change: 'to-target' as const,
      })),
    ),
    ...(['executions', 'steps'] as const).flatMap((collection) =>
      ['createdAt', 'updatedAt'].map((path) => ({ collection, path, change: 'rename' as const })),
    ),
    { collection: 'executions', path: 'dt_id', change: 'remove' },
  ],
  up: [
    refuseWhileLegacyWriters('odtp-0.5'),
    ...Object.entries(PATHS).map(([collection, paths]) => referencesToObjectId(collection, paths)),
    mergeCamelCaseTimestamps('executions'),
    mergeCamelCaseTimestamps('steps'),
    foldReference('executions', 'dt_id', 'digitalTwinRef'),
  ],
  down: { irreversible: 'which values were strings, pairs or camelCase is not recorded' },
});
