// The stub binary is imported as a file: a path when run from source, an embedded
// file in the compiled binary.
declare module "*/dx-init" {
  const path: string;
  export default path;
}
