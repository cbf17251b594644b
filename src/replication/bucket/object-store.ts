import { FolderStore } from './folder-store.js';
import type { ObjectStore } from './object-store-interface.js';
import type { ReplicaLocation } from './replica-target.js';
import { S3Store } from './s3-store.js';

export { FolderStore } from './folder-store.js';
export { type Listing, type ObjectStore, ObjectStoreError } from './object-store-interface.js';
export type { ReplicaLocation, ReplicaTarget } from './replica-target.js';
export { S3Store } from './s3-store.js';

/**
 * The store holding the replica Litestream writes (a bucket, or a local folder), and the
 * key prefix of its objects there. Litestream's settings are a ReplicaLocation as they are.
 */
export function objectStoreFor({ replica, env }: ReplicaLocation): { store: ObjectStore; root: string } {
  if (replica.type === 'file') return { store: new FolderStore(replica.folder), root: '' };
  const region = env.AWS_REGION || 'us-east-1';
  const store = new S3Store({
    endpoint: replica.endpoint || `https://s3.${region}.amazonaws.com`,
    bucket: replica.bucket,
    region,
    accessKeyId: env.AWS_ACCESS_KEY_ID ?? '',
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? '',
  });
  return { store, root: replica.prefix.replace(/^\/+|\/+$/g, '') };
}
