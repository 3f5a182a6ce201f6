//! Contract tests between the renderer and terraform/ + ansible/ (tests only).
