"""Cases: one case per problem, a timeline per account, decisions that name their rule."""
