//! `vole-tool`: the offline admin tool. All logic is in [`vole_tools::tool`]; this only wires
//! it to the process (arguments, stdout, stderr, exit code). See docs/vole-tool.md.

use std::io::{self, BufWriter, IsTerminal};
use std::process::ExitCode;

fn main() -> ExitCode {
    let progress = io::stderr().is_terminal();
    let mut out = BufWriter::new(io::stdout().lock());
    let mut err = io::stderr();
    let code = vole_tools::tool::main_with(std::env::args_os(), &mut out, &mut err, progress);
    ExitCode::from(code)
}
