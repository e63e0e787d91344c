/** The fault matrix with the cache on: blobs through fills (in pieces above 1 MiB), manifests through the tag and digest caches. */
import { runMatrix } from './run-matrix.js';

runMatrix(true);
