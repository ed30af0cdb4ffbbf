/**
 * registry: OCI distribution client (undici): resolve, pull into the content store, push from it, token/Basic auth,
 * Docker/Podman credential files, retries. It must not know about builds, snapshots or the images db format (the
 * db is reached through the injected ImageRecorder). Credentials never leave this room in messages or progress.
 */
export { openRegistry, verifyLogin, type Registry, type RegistryOptions } from "./registry.js";
export { MANIFEST_ACCEPT, isIndexType, type ResolvedImage, type FetchedManifest } from "./client.js";
export { RegistryError, type RegistryErrorKind } from "./errors.js";
export {
  DockerCredentials, StaticCredentials, storeCredentials, eraseCredentials, dockerConfigPath, configKey,
  type Credentials, type CredentialSource, type CredentialEnv,
} from "./credentials.js";
export { hostPlatform, parsePlatform, formatPlatform, normalizePlatform, selectManifest } from "./platform.js";
export { isLoopbackHost, type TransportOptions, type TransportTimeouts } from "./transport.js";
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./retry.js";
export type {
  ImageRecorder, PullOptions, PullResult, PushOptions, PushResult, RegistryProgress, TransferOptions,
} from "./types.js";
