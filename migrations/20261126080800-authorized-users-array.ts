import { defineMigration, scalarToArray, singleElementArrayToScalar } from '@odtp/migrations';

/** December 2023 outputs hold one user id as a string; the target is an array of user ids (never nulls). */
export const { description, transactional, affects, irreversible, up, down, plan } = defineMigration({
  description: 'outputs.access_control.authorized_users: a single value -> array (null entries dropped)',
  up: [scalarToArray('outputs', 'access_control.authorized_users')],
  down: [singleElementArrayToScalar('outputs', 'access_control.authorized_users')],
});
