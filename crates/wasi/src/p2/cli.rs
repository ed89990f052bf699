//! `wasi:cli`: arguments and environment, exit, the standard streams and
//! the terminal interfaces. The standard streams are preview 1's
//! descriptors 0–2 of the same [`crate::WasiCtx`], so an embedder's pipes
//! serve both preview 1 modules and components.

use super::bindings::wasi::cli::{
    environment, exit, stderr, stdin, stdout, terminal_input, terminal_output, terminal_stderr,
    terminal_stdin, terminal_stdout,
};
use super::streams::{Input, Output, Sink};
use super::{cast, WasiView};
use crate::I32Exit;
use tern::component::{Component, Resource};

/// The name of the component's `wasi:cli/run` export (any 0.2.x).
pub(crate) fn run_export_name(component: &Component) -> Option<String> {
    component
        .exports()
        .map(|(n, _)| n)
        .find(|n| n.starts_with("wasi:cli/run@0.2."))
        .map(str::to_string)
}

impl<T: WasiView> environment::Host for T {
    fn get_environment(&mut self) -> tern::Result<Vec<(String, String)>> {
        Ok(self.ctx().state_mut()?.env.clone())
    }

    fn get_arguments(&mut self) -> tern::Result<Vec<String>> {
        Ok(self.ctx().state_mut()?.args.clone())
    }

    fn initial_cwd(&mut self) -> tern::Result<Option<String>> {
        Ok(None)
    }
}

impl<T: WasiView> exit::Host for T {
    fn exit(&mut self, status: Result<(), ()>) -> tern::Result<()> {
        Err(I32Exit(if status.is_ok() { 0 } else { 1 }).into())
    }

    fn exit_with_code(&mut self, code: u8) -> tern::Result<()> {
        Err(I32Exit(i32::from(code)).into())
    }
}

impl<T: WasiView> stdin::Host for T {
    fn get_stdin(&mut self) -> tern::Result<Resource<stdin::InputStream>> {
        Ok(cast(&self.table().push(Input::Stdin)?))
    }
}

impl<T: WasiView> stdout::Host for T {
    fn get_stdout(&mut self) -> tern::Result<Resource<stdout::OutputStream>> {
        Ok(cast(&self.table().push(Output::new(Sink::Stdio(1)))?))
    }
}

impl<T: WasiView> stderr::Host for T {
    fn get_stderr(&mut self) -> tern::Result<Resource<stderr::OutputStream>> {
        Ok(cast(&self.table().push(Output::new(Sink::Stdio(2)))?))
    }
}

/// A `terminal-input` or `terminal-output`: never created, since Tern
/// reports no standard stream as a terminal (the `get-terminal-*` functions
/// return `none`), but the guest may still import the resource types.
struct Terminal;

impl<T: WasiView> terminal_input::Host for T {}

impl<T: WasiView> terminal_input::HostTerminalInput for T {
    fn drop(&mut self, r: Resource<terminal_input::TerminalInput>) -> tern::Result<()> {
        self.table().delete::<Terminal>(cast(&r))?;
        Ok(())
    }
}

impl<T: WasiView> terminal_output::Host for T {}

impl<T: WasiView> terminal_output::HostTerminalOutput for T {
    fn drop(&mut self, r: Resource<terminal_output::TerminalOutput>) -> tern::Result<()> {
        self.table().delete::<Terminal>(cast(&r))?;
        Ok(())
    }
}

impl<T: WasiView> terminal_stdin::Host for T {
    fn get_terminal_stdin(
        &mut self,
    ) -> tern::Result<Option<Resource<terminal_stdin::TerminalInput>>> {
        Ok(None)
    }
}

impl<T: WasiView> terminal_stdout::Host for T {
    fn get_terminal_stdout(
        &mut self,
    ) -> tern::Result<Option<Resource<terminal_stdout::TerminalOutput>>> {
        Ok(None)
    }
}

impl<T: WasiView> terminal_stderr::Host for T {
    fn get_terminal_stderr(
        &mut self,
    ) -> tern::Result<Option<Resource<terminal_stderr::TerminalOutput>>> {
        Ok(None)
    }
}
