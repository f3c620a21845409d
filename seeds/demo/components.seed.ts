import { ref } from '@odtp/seeding';
import type { SeedFile } from '@odtp/seeding';
import { at, COMPONENTS, versionKey } from './catalog';

export const components: SeedFile = {
  file: 'seeds/demo/components.seed.ts',
  collection: 'components',
  documents: COMPONENTS.map((c, i) => ({
    key: c.repo,
    doc: {
      author: c.author,
      componentName: c.name,
      repoLink: c.repo,
      status: 'active',
      title: c.name,
      type: c.type,
      description: c.description,
      tags: c.tags,
      versions: c.versions.map((v) => ref('versions', versionKey(c.repo, v.tag))),
      created_at: at(-8_000 + i),
      updated_at: at(-8_000 + i),
      deprecated: false,
    },
  })),
};
