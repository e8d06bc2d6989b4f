"""Core domain logic: periods, the working-day calendar, deadlines."""
