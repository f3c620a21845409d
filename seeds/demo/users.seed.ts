import { ref } from '@odtp/seeding';
import type { SeedFile } from '@odtp/seeding';
import { at, TWINS, twinKey, USERS } from './catalog';

export const users: SeedFile = {
  file: 'seeds/demo/users.seed.ts',
  collection: 'users',
  documents: USERS.map((u, i) => ({
    key: u.name,
    doc: {
      displayName: u.name,
      email: u.email,
      github: u.github,
      digitalTwins: TWINS.filter((t) => t.user === u.name).map((t) => ref('digitalTwins', twinKey(t))),
      created_at: at(-10_000 + i),
      updated_at: at(-10_000 + i),
      deprecated: false,
    },
  })),
};
