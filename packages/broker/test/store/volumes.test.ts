/** Both store volumes — LevelDB directories and memory-level — pass the store conformance suite. */
import { rm } from "node:fs/promises";
import { DirectoryVolume } from "../../src/store/volume-directory.ts";
import { MemoryVolume } from "../../src/store/volume-memory.ts";
import { tempDir } from "../helpers/harness.ts";
import { volumeConformance } from "./volume-conformance.ts";

const dirs: string[] = [];

volumeConformance("DirectoryVolume (LevelDB on disk)", {
  create: async () => {
    const dir = await tempDir();
    dirs.push(dir);
    return new DirectoryVolume(dir);
  },
  cleanup: async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  },
});

volumeConformance("MemoryVolume (memory-level)", {
  create: async () => new MemoryVolume(),
  cleanup: async () => {},
});
