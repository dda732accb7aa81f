// The RPC schema is imported as text (Bun's `with { type: "text" }`), embedded when compiled.
declare module "*.proto" {
  const text: string;
  export default text;
}
