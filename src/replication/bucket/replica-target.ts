/**
 * Where Litestream's replica is, as far as reading it back goes: a folder (the file
 * replica), or a key prefix in a bucket at an S3 endpoint. Litestream's settings hold
 * one of these; the bucket code needs nothing else of them.
 */
export type ReplicaTarget =
  | { type: 's3'; bucket: string; prefix: string; endpoint: string | undefined }
  | { type: 'file'; folder: string };

/** The variables Fly's storage sets for an S3 replica's region and keys. */
export interface S3Environment {
  readonly AWS_REGION?: string | undefined;
  readonly AWS_ACCESS_KEY_ID?: string | undefined;
  readonly AWS_SECRET_ACCESS_KEY?: string | undefined;
}

/** A replica and the environment its keys come from. */
export interface ReplicaLocation {
  replica: ReplicaTarget;
  env: S3Environment;
}
