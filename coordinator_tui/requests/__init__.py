"""The service request queue: rules, due times, the operations the Requests screen calls, exports."""
