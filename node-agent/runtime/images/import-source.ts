/**
 * What an import reads from: a blob fetcher plus the top-level images it offers, each with the
 * names it carries. OCI layouts, docker archives and (later) registry pulls all reduce to this, so
 * the store has one verified ingest path.
 */
import type { BlobFetcher } from "./blob-store.js";
import type { Descriptor } from "./oci.js";

export interface SourceImage {
  /** A manifest or an index (the store picks this node's platform from an index). */
  descriptor: Descriptor;
  /** References the source gives it (unnormalised); may be empty. */
  names: string[];
  /** Where it is described, for errors (`<dir>/index.json manifests[0]`). */
  where: string;
}

export interface ImportSource {
  fetcher: BlobFetcher;
  images: SourceImage[];
}
