"""The fuzzing layer; its folder sorts last so that its generated data lands after every
other integration test of the shared stack."""
