//! `vole-cli`: see `vole_tools::cli`.

fn main() {
    std::process::exit(vole_tools::cli::main());
}
