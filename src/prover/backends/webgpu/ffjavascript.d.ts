// ffjavascript ships no type declarations; the webgpu tests and bench use it
// untyped (as the reference implementation). Shorthand ambient module: any.
declare module 'ffjavascript';
