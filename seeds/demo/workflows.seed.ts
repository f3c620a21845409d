import { ref } from '@odtp/seeding';
import type { SeedFile } from '@odtp/seeding';
import { at, WORKFLOWS } from './catalog';

export const workflows: SeedFile = {
  file: 'seeds/demo/workflows.seed.ts',
  collection: 'workflows',
  documents: WORKFLOWS.map((w, i) => ({
    key: w.name,
    doc: {
      name: w.name,
      versions: w.versions.map((v) => ref('versions', v)),
      created_at: at(-6_000 + i),
      updated_at: at(-6_000 + i),
      deprecated: false,
    },
  })),
};
