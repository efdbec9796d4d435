/** The real-host test bed: see test/bed/README.md. */
export { DOCKER_SOCKET, docker, dockerOk, dockerEnv, dockerdLogPath, ensureDockerd, pingDocker } from './dockerd.js';
export { IMAGE_KINDS, ensureImage, imageTag, recipeHash, type ImageKind } from './images.js';
export {
  TEST_HOST_PREFIX,
  TEST_NETWORK,
  TEST_USERS,
  generateTestKeyPair,
  sshExec,
  startHost,
  stopAllTestHosts,
  type ExecOptions,
  type StartHostOptions,
  type TestHost,
  type TestKeyPair,
} from './hosts.js';
export { describeTestBed, inCI, testBedPrerequisites, which, type Prerequisites } from './prereqs.js';
export { cacheDir } from './util.js';
