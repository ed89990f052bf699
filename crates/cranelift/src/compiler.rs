//! The [`Compiler`]: a configured Cranelift ISA plus the per-function compile step.

use crate::trampoline::{needed_trampolines, TrampolineSpec};
use crate::translate::FuncTranslator;
use anyhow::{anyhow, bail, Context as _, Result};
use cranelift_codegen::ir::{self, ExternalName};
use cranelift_codegen::isa::{CallConv, OwnedTargetIsa};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::{Context, FinalizedMachExceptionHandler, FinalizedRelocTarget};
use rayon::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};
use tern_environ::{AddressMap, FunctionBody, ModuleTranslation, TrapKind, VMOffsets};

/// How hard Cranelift optimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OptLevel {
    /// No optimisation: fastest compile.
    None,
    /// Optimise for speed (the default).
    Speed,
    /// Optimise for speed and size.
    SpeedAndSize,
}

/// The code-affecting settings the runtime hands to the compiler.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CompilerSettings {
    /// Cranelift optimisation level.
    pub opt_level: OptLevel,
    /// Run Cranelift's IR verifier on every function (slow; for debugging).
    pub verify: bool,
    /// Memory layout, fuel and epoch settings the runtime also follows.
    pub tunables: tern_environ::Tunables,
}

/// What a relocation in a compiled function refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelocTarget {
    /// Another wasm function of the same module, by function index.
    Func(u32),
}

/// One relocation inside a compiled function's code.
#[derive(Debug, Clone)]
pub(crate) struct Reloc {
    pub offset: u32,
    pub kind: cranelift_codegen::binemit::Reloc,
    pub target: RelocTarget,
    pub addend: i64,
}

/// Every function starts on a 64-byte boundary (a cache line), not just the
/// ISA's preferred alignment (32 bytes on x86-64). Where a hot loop falls
/// relative to cache lines and the CPU's 32-byte decode windows then depends
/// on the function's own code only, not on the sizes of the functions before
/// it: with 32-byte alignment, shortening unrelated functions moved the
/// `matmul` workload's identical code by 224 bytes and made it 3–6 % slower
/// (`tern-bench workloads`, December 2026; 64-byte alignment: 0.99–1.00 of
/// wasmtime 48 in the same runs). The cost is padding: the workloads module's
/// text grew from 76 to 80 KiB.
pub const FUNCTION_ALIGNMENT: u32 = 64;

/// The machine code of one function, before linking.
#[derive(Debug, Clone)]
pub struct CompiledFunction {
    pub(crate) code: Vec<u8>,
    /// The alignment the code must start at: [`FUNCTION_ALIGNMENT`], or more
    /// when the ISA or the constant pool needs it.
    pub(crate) alignment: u32,
    pub(crate) relocs: Vec<Reloc>,
    /// Trap sites: (offset in `code`, kind).
    pub(crate) traps: Vec<(u32, TrapKind)>,
    /// Where each wasm instruction's code starts: (offset in `code`, wasm
    /// offset in the module binary), sorted; empty for trampolines.
    pub(crate) srclocs: Vec<(u32, u32)>,
    /// Wasm offset of the function body (0 for trampolines).
    pub(crate) wasm_start: u32,
    /// Calls with live GC references: (offset in `code` of the return
    /// address, frame size, the references' offsets from the stack pointer),
    /// sorted by return address (see `tern_environ::StackMaps`).
    pub(crate) stack_maps: Vec<(u32, u32, Vec<u32>)>,
    /// Calls with an exception handler (`try_call`): (offset in `code` of
    /// the return address, frame offset, offset in `code` of the handler),
    /// sorted by return address (see `tern_environ::ExceptionHandlers`).
    pub(crate) handlers: Vec<(u32, u32, u32)>,
}

impl CompiledFunction {
    /// The machine code. Only self-contained (relocation-free) code, such as a
    /// trampoline, may be run without [`crate::link`].
    pub fn code(&self) -> &[u8] {
        &self.code
    }

    /// Whether the code needs linking before it can run.
    pub fn has_relocations(&self) -> bool {
        !self.relocs.is_empty()
    }
}

/// Everything compiled for one module, before linking.
#[derive(Debug)]
pub struct CompiledModule {
    /// The module's description.
    pub module: tern_environ::Module,
    /// Every function body, by defined-function index.
    pub funcs: Vec<CompiledFunction>,
    /// Every trampoline the module needs (see [`needed_trampolines`]), each
    /// with what it was compiled for; all relocation-free.
    pub trampolines: Vec<(TrampolineSpec, CompiledFunction)>,
}

/// A Cranelift code generator for the host machine.
pub struct Compiler {
    isa: OwnedTargetIsa,
    /// Whether the target was named (`for_target`) rather than detected.
    explicit_target: bool,
    settings: CompilerSettings,
    /// How many functions Cranelift has compiled (see [`Compiler::compiled_function_count`]).
    compiled: AtomicU64,
}

/// The CPU features code for an explicit x86-64 target assumes: the
/// x86-64-v2 level (every x86-64 CPU since about 2009). Without SSE4.1,
/// Cranelift lowers float rounding to libcalls, which Tern's code cannot call.
const X86_64_BASELINE: [&str; 5] = [
    "has_sse3",
    "has_ssse3",
    "has_sse41",
    "has_sse42",
    "has_popcnt",
];

/// Whether this host has every feature of [`X86_64_BASELINE`].
fn host_has_x86_64_baseline() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("sse3")
            && std::arch::is_x86_feature_detected!("ssse3")
            && std::arch::is_x86_feature_detected!("sse4.1")
            && std::arch::is_x86_feature_detected!("sse4.2")
            && std::arch::is_x86_feature_detected!("popcnt")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Checks that Tern can generate code for the target `triple` (x86-64 or
/// little-endian AArch64 Linux) and returns it in canonical form.
///
/// # Errors
/// Fails, naming the triple, when it does not parse or names a target Tern has
/// no backend for.
pub fn check_target(triple: &str) -> Result<String> {
    use target_lexicon::{Aarch64Architecture, Architecture, OperatingSystem, Triple};
    let parsed: Triple = triple
        .parse()
        .map_err(|e| anyhow!("invalid target triple `{triple}`: {e}"))?;
    let arch = matches!(
        parsed.architecture,
        Architecture::X86_64 | Architecture::Aarch64(Aarch64Architecture::Aarch64)
    );
    if !arch || parsed.operating_system != OperatingSystem::Linux {
        bail!(
            "Tern cannot compile for target `{triple}`: it generates code for x86-64 and \
             AArch64 Linux only (e.g. `x86_64-unknown-linux-gnu`, `aarch64-unknown-linux-gnu`)"
        );
    }
    Ok(parsed.to_string())
}

impl Compiler {
    /// Builds a compiler for the host CPU with `settings`.
    ///
    /// # Errors
    /// Fails when the host architecture is not supported by Cranelift.
    pub fn new(settings: CompilerSettings) -> Result<Self> {
        Self::for_target(settings, None)
    }

    /// Builds a compiler for `target` (a triple accepted by [`check_target`]),
    /// or for the host CPU when `None`. A named target gets fixed CPU
    /// features (no detection): AArch64's baseline, x86-64-v2 on x86-64
    /// (SSE4.2 and POPCNT); the host gets the features of this machine.
    ///
    /// # Errors
    /// Fails for a target [`check_target`] refuses, or when the host
    /// architecture is not supported by Cranelift.
    pub fn for_target(settings: CompilerSettings, target: Option<&str>) -> Result<Self> {
        let mut flags = settings::builder();
        let set = |flags: &mut settings::Builder, k: &str, v: &str| {
            flags
                .set(k, v)
                .map_err(|e| anyhow!("cranelift setting {k}={v}: {e}"))
        };
        set(
            &mut flags,
            "opt_level",
            match settings.opt_level {
                OptLevel::None => "none",
                OptLevel::Speed => "speed",
                OptLevel::SpeedAndSize => "speed_and_size",
            },
        )?;
        set(
            &mut flags,
            "enable_verifier",
            if settings.verify { "true" } else { "false" },
        )?;
        // Tern emits the guards for its own explicit checks (see `translate`);
        // Cranelift reads the same flags for the checks it lowers itself
        // (`br_table` jump tables).
        let on_off = |b: bool| if b { "true" } else { "false" };
        set(
            &mut flags,
            "enable_heap_access_spectre_mitigation",
            on_off(settings.tunables.heap_access_spectre_mitigation),
        )?;
        set(
            &mut flags,
            "enable_table_access_spectre_mitigation",
            on_off(settings.tunables.table_access_spectre_mitigation),
        )?;
        set(&mut flags, "preserve_frame_pointers", "true")?;
        set(&mut flags, "enable_probestack", "false")?;
        set(&mut flags, "enable_multi_ret_implicit_sret", "true")?;
        set(&mut flags, "unwind_info", "false")?;
        let isa_builder = match target {
            None => cranelift_native::builder().map_err(|e| anyhow!("unsupported host: {e}"))?,
            Some(triple) => {
                let triple: target_lexicon::Triple = check_target(triple)?
                    .parse()
                    .map_err(|e| anyhow!("invalid target triple `{triple}`: {e}"))?;
                let mut builder = cranelift_codegen::isa::lookup(triple.clone())
                    .map_err(|e| anyhow!("Cranelift cannot compile for `{triple}`: {e}"))?;
                if triple.architecture == target_lexicon::Architecture::X86_64 {
                    for flag in X86_64_BASELINE {
                        builder
                            .enable(flag)
                            .map_err(|e| anyhow!("cranelift setting {flag}: {e}"))?;
                    }
                }
                builder
            }
        };
        let isa = isa_builder
            .finish(settings::Flags::new(flags))
            .context("failed to configure Cranelift for this host")?;
        Ok(Self {
            isa,
            explicit_target: target.is_some(),
            settings,
            compiled: AtomicU64::new(0),
        })
    }

    /// The settings this compiler was built with.
    pub fn settings(&self) -> &CompilerSettings {
        &self.settings
    }

    /// The target triple code is generated for.
    pub fn triple(&self) -> String {
        self.isa.triple().to_string()
    }

    /// Whether code generated for this compiler's target can run in this
    /// process: same architecture and operating system as the host, and, for
    /// an explicit x86-64 target, the CPU features it assumes.
    pub fn runs_on_host(&self) -> bool {
        let (ours, host) = (self.isa.triple(), target_lexicon::HOST);
        ours.architecture == host.architecture
            && ours.operating_system == host.operating_system
            && (!self.explicit_target
                || ours.architecture != target_lexicon::Architecture::X86_64
                || host_has_x86_64_baseline())
    }

    /// The ISA flags (CPU features) in effect, as text, for artifact compatibility checks.
    pub fn isa_flags(&self) -> String {
        self.isa
            .isa_flags()
            .iter()
            .map(|f| format!("{}={} ", f.name, f.value_string()))
            .collect()
    }

    /// The host's C calling convention: trampolines' host side and libcalls.
    pub(crate) fn call_conv(&self) -> CallConv {
        self.isa.default_call_conv()
    }

    /// The convention of wasm functions: Cranelift's `tail`, so that
    /// `return_call` can reuse the caller's frame.
    pub(crate) fn wasm_call_conv(&self) -> CallConv {
        CallConv::Tail
    }

    pub(crate) fn isa(&self) -> &dyn cranelift_codegen::isa::TargetIsa {
        &*self.isa
    }

    /// How many functions (wasm bodies and trampolines) this compiler has run
    /// Cranelift on. Tests use it to check that loading a precompiled artifact
    /// and running it compiles nothing.
    pub fn compiled_function_count(&self) -> u64 {
        self.compiled.load(Ordering::Relaxed)
    }

    /// Translates, validates and compiles every function body of `translation`
    /// and every trampoline the module needs ([`needed_trampolines`]), all in
    /// one parallel pass.
    ///
    /// # Errors
    /// Fails with the validator's message (naming the byte offset) on an invalid
    /// body, or when Cranelift rejects the generated code.
    pub fn compile_module(&self, translation: ModuleTranslation<'_>) -> Result<CompiledModule> {
        enum Job<'a> {
            Body(FunctionBody<'a>),
            Trampoline(TrampolineSpec),
        }
        let ModuleTranslation { module, bodies } = translation;
        let offsets = VMOffsets::new(&module);
        let num_bodies = bodies.len();
        let specs = needed_trampolines(&module);
        let jobs: Vec<Job<'_>> = bodies
            .into_iter()
            .map(Job::Body)
            .chain(specs.iter().copied().map(Job::Trampoline))
            .collect();
        let mut compiled = jobs
            .into_par_iter()
            .map_init(
                || {
                    (
                        Context::new(),
                        cranelift_frontend::FunctionBuilderContext::new(),
                        wasmparser::FuncValidatorAllocations::default(),
                    )
                },
                |(ctx, fctx, allocs), job| {
                    let body = match job {
                        Job::Body(body) => body,
                        Job::Trampoline(spec) => {
                            let ty = module.signature(spec.type_index);
                            return self.compile_trampoline(spec.kind, ty).with_context(|| {
                                format!("failed to compile the {:?} trampoline for {ty}", spec.kind)
                            });
                        }
                    };
                    let func_index = body.func_index;
                    let mut validator = body.validator.into_validator(std::mem::take(allocs));
                    ctx.clear();
                    FuncTranslator::new(self, &module, &offsets, fctx).translate(
                        &mut ctx.func,
                        func_index,
                        &body.body,
                        &mut validator,
                    )?;
                    *allocs = validator.into_allocations();
                    let mut compiled = self
                        .finish(ctx)
                        .with_context(|| format!("failed to compile wasm function {func_index}"))?;
                    compiled.wasm_start = body.body.range().start as u32;
                    Ok(compiled)
                },
            )
            .collect::<Result<Vec<_>>>()?;
        let trampolines = specs
            .into_iter()
            .zip(compiled.split_off(num_bodies))
            .collect();
        Ok(CompiledModule {
            module,
            funcs: compiled,
            trampolines,
        })
    }

    /// The CLIF of every defined function of `translation` as Tern's
    /// translator emits it, before Cranelift optimises it, in defined-function
    /// order. For tests that check what the translator emits (Spectre guards,
    /// bounds checks); not a stable format.
    ///
    /// # Errors
    /// Fails like [`Compiler::compile_module`] on an invalid body.
    #[doc(hidden)]
    pub fn translate_to_clif(&self, translation: ModuleTranslation<'_>) -> Result<Vec<String>> {
        let ModuleTranslation { module, bodies } = translation;
        let offsets = VMOffsets::new(&module);
        let mut fctx = cranelift_frontend::FunctionBuilderContext::new();
        let mut allocs = wasmparser::FuncValidatorAllocations::default();
        bodies
            .into_iter()
            .map(|body| {
                let mut validator = body.validator.into_validator(std::mem::take(&mut allocs));
                let mut func = cranelift_codegen::ir::Function::new();
                FuncTranslator::new(self, &module, &offsets, &mut fctx).translate(
                    &mut func,
                    body.func_index,
                    &body.body,
                    &mut validator,
                )?;
                allocs = validator.into_allocations();
                Ok(func.display().to_string())
            })
            .collect()
    }

    /// Runs Cranelift over the function in `ctx` and collects its code, traps and relocations.
    pub(crate) fn finish(&self, ctx: &mut Context) -> Result<CompiledFunction> {
        let mut ctrl = Default::default();
        let compiled = ctx
            .compile(&*self.isa, &mut ctrl)
            .map_err(|e| anyhow!("cranelift compilation failed: {:?}", e.inner))?;
        self.compiled.fetch_add(1, Ordering::Relaxed);
        let buffer = compiled.buffer.clone();
        let mut relocs = Vec::new();
        for r in buffer.relocs() {
            let target = match &r.target {
                FinalizedRelocTarget::ExternalName(ExternalName::User(name)) => {
                    let name = ctx.func.params.user_named_funcs()[*name].clone();
                    RelocTarget::Func(name.index)
                }
                other => bail!("unsupported relocation target in generated code: {other:?}"),
            };
            relocs.push(Reloc {
                offset: r.offset,
                kind: r.kind,
                target,
                addend: r.addend,
            });
        }
        let traps = buffer
            .traps()
            .iter()
            .filter_map(|t| crate::trap_codes::trap_kind(t.code).map(|k| (t.offset, k)))
            .collect();
        // Each instruction's code range; code between ranges (the prologue,
        // traps deferred without a location) is marked as no instruction's.
        let mut srclocs = Vec::new();
        let mut prev_end = 0;
        for s in buffer.get_srclocs_sorted() {
            if s.loc.is_default() || s.end <= s.start {
                continue;
            }
            if prev_end < s.start && !srclocs.is_empty() {
                srclocs.push((prev_end, AddressMap::NO_INSTRUCTION));
            }
            srclocs.push((s.start, s.loc.bits()));
            prev_end = s.end;
        }
        if !srclocs.is_empty() && (prev_end as usize) < buffer.data().len() {
            srclocs.push((prev_end, AddressMap::NO_INSTRUCTION));
        }
        let stack_maps = buffer
            .user_stack_maps()
            .iter()
            .map(|(ret, frame_size, map)| {
                let slots = map
                    .entries()
                    .map(|(ty, offset)| {
                        // References are 64-bit words (`ir_type`); an 8-aligned
                        // word inside the frame is what the frame walker relies on.
                        if ty != ir::types::I64 || offset % 8 != 0 || offset + 8 > *frame_size {
                            bail!(
                                "unexpected stack map entry {ty} at {offset} in a {frame_size}-byte frame"
                            );
                        }
                        Ok(offset)
                    })
                    .collect::<Result<Vec<u32>>>()?;
                Ok((*ret, *frame_size, slots))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut handlers = Vec::new();
        for site in buffer.call_sites() {
            let mut handler = None;
            for h in site.exception_handlers {
                match h {
                    FinalizedMachExceptionHandler::Default(at) => handler = Some(*at),
                    // Tern's exception tables have one `Default` entry and
                    // nothing else (see `translate/exceptions.rs`).
                    other => bail!("unexpected exception handler {other:?}"),
                }
            }
            let Some(handler) = handler else { continue };
            let frame_offset = site
                .frame_offset
                .filter(|f| f % 8 == 0)
                .ok_or_else(|| anyhow!("a try_call site without a usable frame offset"))?;
            handlers.push((site.ret_addr, frame_offset, handler));
        }
        handlers.sort_unstable_by_key(|h| h.0);
        let alignment = buffer
            .alignment
            .max(self.isa.function_alignment().preferred)
            .max(FUNCTION_ALIGNMENT);
        Ok(CompiledFunction {
            code: buffer.data().to_vec(),
            alignment,
            relocs,
            traps,
            srclocs,
            wasm_start: 0,
            stack_maps,
            handlers,
        })
    }
}
