/**
 * The slice of the WebAssembly JS API the witness calculator uses. The
 * project compiles without the DOM library, and @types/node does not declare
 * WebAssembly; Node 20 provides all of this at run time.
 */
declare global {
  namespace WebAssembly {
    interface ModuleExportDescriptor {
      readonly name: string;
      readonly kind: 'function' | 'table' | 'memory' | 'global' | 'tag';
    }
    interface ModuleImportDescriptor extends ModuleExportDescriptor {
      readonly module: string;
    }
    interface Module {}
    var Module: {
      prototype: Module;
      new (bytes: Uint8Array): Module;
      exports(module: Module): ModuleExportDescriptor[];
      imports(module: Module): ModuleImportDescriptor[];
    };
    interface Memory {
      readonly buffer: ArrayBuffer;
    }
    type ImportValue = (...args: never[]) => unknown;
    type Imports = Record<string, Record<string, ImportValue>>;
    interface Instance {
      readonly exports: Record<string, unknown>;
    }
    var Instance: {
      prototype: Instance;
      new (module: Module, imports?: Imports): Instance;
    };
    interface RuntimeError extends Error {}
    var RuntimeError: {
      prototype: RuntimeError;
      new (message?: string): RuntimeError;
    };
    function compile(bytes: Uint8Array): Promise<Module>;
  }
}

export {};
