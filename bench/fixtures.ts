/** Shared benchmark data: the collection the db and browser suites write to. */
export const PEOPLE = {
  name: 'People',
  schema: {
    type: 'object',
    properties: { _id: { type: 'string' }, name: { type: 'string' }, email: { type: 'string' }, age: { type: 'integer' }, city: { type: 'string' } },
    required: ['name']
  },
  indexes: [{ path: 'email', unique: true }]
}
