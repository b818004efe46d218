from runtime.service import serve
from services.cases.bootstrap import DEFINITION

serve(DEFINITION)
