// Runs in every test file (jest setupFilesAfterEnv): the temp folders a test file made go when it ends.
import { removeTempDirs } from './temp-dirs';

afterAll(removeTempDirs);
