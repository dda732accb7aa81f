// How the live status reads the system. Loading node:fs costs a command ~1 ms and Bun's
// first file read ~0.5 ms (it starts a thread pool): state, kill and list need nothing
// else of node:fs and read through Bun; commands that load node:fs anyway read through it.

export interface Probe {
  /** the file's text, or null when it cannot be read (gone, not permitted) */
  text(path: string): Promise<string | null>;
  exists(path: string): Promise<boolean>;
}

export const bunProbe: Probe = {
  async text(path) {
    try {
      return await Bun.file(path).text();
    } catch {
      return null;
    }
  },
  exists: (path) => Bun.file(path).exists(),
};

export const fsProbe: Probe = {
  async text(path) {
    try {
      return (require("node:fs") as typeof import("node:fs")).readFileSync(path, "latin1");
    } catch {
      return null;
    }
  },
  async exists(path) {
    return (require("node:fs") as typeof import("node:fs")).existsSync(path);
  },
};
