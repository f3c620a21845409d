import { naturalKeyId, ref } from '@odtp/seeding';
import type { SeedDocument, SeedFile } from '@odtp/seeding';
import { at, EXECUTIONS, stepKey } from './catalog';

function output(step: string, kind: 'output' | 'snapshot', minute: number, owner: string): SeedDocument {
  const stepId = naturalKeyId('steps', step).toHexString();
  return {
    key: `${step}/${kind}`,
    doc: {
      stepRef: ref('steps', step),
      output_type: kind,
      s3_bucket: 'odtp',
      s3_key: `odtp/${stepId}`,
      file_name: kind === 'output' ? 'odtp-output.zip' : 'odtp-snapshot.zip',
      file_size: kind === 'output' ? 1_843_221 + minute * 17 : 92_311_004 + minute * 101,
      file_type: 'application/zip',
      created_at: at(minute),
      updated_at: at(minute),
      metadata: {
        description: kind === 'output' ? 'files written to /odtp/odtp-output' : 'workspace snapshot',
        tags: ['demo'],
        other_info: null,
      },
      access_control: { public: false, authorized_users: [ref('users', owner)] },
      deprecated: false,
    },
  };
}

export const outputs: SeedFile = {
  file: 'seeds/demo/outputs.seed.ts',
  collection: 'outputs',
  documents: EXECUTIONS.flatMap((e) =>
    e.steps.flatMap((_, i) => {
      const end = e.minute + 1 + i * 15 + 14;
      const owner = e.twin.split('/')[0];
      const docs = [output(stepKey(e, i), 'output', end, owner)];
      if (i === e.steps.length - 1) docs.push(output(stepKey(e, i), 'snapshot', end, owner));
      return docs;
    }),
  ),
};
