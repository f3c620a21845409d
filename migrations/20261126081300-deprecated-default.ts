import { defaultValue, defineMigration } from '@odtp/migrations';

/** v0.5 added `deprecated` everywhere; older documents are not deprecated. */
export const { description, transactional, affects, irreversible, up, down, plan } = defineMigration({
  description: 'deprecated: false where missing',
  up: [
    defaultValue(
      [
        'users',
        'digitalTwins',
        'components',
        'versions',
        'workflows',
        'executions',
        'steps',
        'outputs',
        'results',
      ],
      'deprecated',
      false,
    ),
  ],
  down: {
    irreversible: 'which documents lacked the field is not recorded (false is what older versions assume)',
  },
});
