/** The project's seed data, imported by apps and tests as @odtp/seeds (never by relative path). */
export { demoSeed } from './demo';
