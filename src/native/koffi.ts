// The koffi native module for this platform, loaded directly. Going through the
// package's index would make the bundler embed koffi's builds for every platform
// (~26 MB) into the compiled binary; only linux x64 is ever loaded.
import type * as Koffi from "koffi";

let mod: typeof Koffi | undefined;

export function koffi(): typeof Koffi {
  return (mod ??= require("koffi/build/koffi/linux_x64/koffi.node") as typeof Koffi);
}
