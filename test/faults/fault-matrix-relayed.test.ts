/** The fault matrix with the cache off: every answer relayed. */
import { runMatrix } from './run-matrix.js';

runMatrix(false);
