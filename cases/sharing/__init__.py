"""Data shared between departments (数据共享): registries, purpose limitation, the sharing log."""
