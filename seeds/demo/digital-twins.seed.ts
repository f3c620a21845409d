import { ref } from '@odtp/seeding';
import type { SeedFile } from '@odtp/seeding';
import { at, EXECUTIONS, executionKey, TWINS, twinKey } from './catalog';

export const digitalTwins: SeedFile = {
  file: 'seeds/demo/digital-twins.seed.ts',
  collection: 'digitalTwins',
  documents: TWINS.map((t, i) => ({
    key: twinKey(t),
    doc: {
      userRef: ref('users', t.user),
      name: t.name,
      status: t.status,
      public: t.public,
      executions: EXECUTIONS.filter((e) => e.twin === twinKey(t)).map((e) =>
        ref('executions', executionKey(e)),
      ),
      created_at: at(-9_000 + i),
      updated_at: at(-9_000 + i),
      deprecated: t.status === 'archived',
    },
  })),
};
