//! vole-tools: vole-cli and vole-tool.
