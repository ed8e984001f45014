/**
 * A value computed on first use. Used to load the drivers a deployment may not need (Cassandra on a SQLite
 * monolith, NATS and Redis outside microservices mode, the S3 SDK with local files, LiveKit without voice, sharp
 * until an image is resized) only when they are used: loaded eagerly they were about 20 MB of heap and a large
 * share of the monolith's idle memory.
 */
export function lazy<T>(load: () => T): () => T {
  let loaded = false;
  let value: T;
  return () => {
    if (!loaded) {
      value = load();
      loaded = true;
    }
    return value;
  };
}
