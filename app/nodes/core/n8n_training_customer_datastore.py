"""Customer Datastore (n8n training): a dummy data source with five fixed people, used by n8n's
courses and by test workflows. "Get One Person" returns the first; "Get All People" returns all
of them or the first `limit`, once per input item."""
import copy

from app.engine.node import NodeType, Option, Property
from app.engine.registry import register

PEOPLE = (
    {"id": "23423532", "name": "Jay Gatsby", "email": "gatsby@west-egg.com",
     "notes": "Keeps asking about a green light??", "country": "US", "created": "1925-04-10"},
    {"id": "23423533", "name": "José Arcadio Buendía", "email": "jab@macondo.co",
     "notes": "Lots of people named after him. Very confusing", "country": "CO", "created": "1967-05-05"},
    {"id": "23423534", "name": "Max Sendak", "email": "info@in-and-out-of-weeks.org",
     "notes": "Keeps rolling his terrible eyes", "country": "US", "created": "1963-04-09"},
    {"id": "23423535", "name": "Zaphod Beeblebrox", "email": "captain@heartofgold.com",
     "notes": "Felt like I was talking to more than one person", "country": None, "created": "1979-10-12"},
    {"id": "23423536", "name": "Edmund Pevensie", "email": "edmund@narnia.gov",
     "notes": "Passionate sailor", "country": "UK", "created": "1950-10-16"},
)


@register
class N8nTrainingCustomerDatastore(NodeType):
    type = "n8nTrainingCustomerDatastore"
    versions = (1,)
    display_name = "Customer Datastore (n8n training)"
    description = "Dummy node used for n8n training"
    group = "transform"
    icon = "database"
    properties = (
        Property(name="operation", display_name="Operation", type="options", default="getOnePerson",
                 no_data_expression=True,
                 options=[Option("Get One Person", "getOnePerson"), Option("Get All People", "getAllPeople")]),
        Property(name="returnAll", display_name="Return All", type="boolean", default=False,
                 description="Whether to return all results or only up to a given limit",
                 display_options={"show": {"operation": ["getAllPeople"]}}),
        Property(name="limit", display_name="Limit", type="number", default=5,
                 description="Max number of results to return", type_options={"minValue": 1, "maxValue": 10},
                 display_options={"show": {"operation": ["getAllPeople"], "returnAll": [False]}}),
    )

    def execute(self, ctx):
        operation = ctx.raw_param("operation")
        people = []
        for index in range(len(ctx.input_items())):
            people.extend(_people(ctx, operation, index))
        # Fresh copies: downstream nodes may change their items, never this node's data.
        return [[{"json": copy.deepcopy(person)} for person in people]]


def _people(ctx, operation, index):
    if operation == "getOnePerson":
        return PEOPLE[:1]
    if operation != "getAllPeople":
        return ()
    if ctx.get_param("returnAll", index):
        return PEOPLE
    return PEOPLE[:_slice_end(ctx.get_param("limit", index))]


def _slice_end(limit):
    """JavaScript's slice(0, limit): fractions truncate, negatives count from the end."""
    try:
        return int(float(limit))
    except (TypeError, ValueError, OverflowError):
        return 0
