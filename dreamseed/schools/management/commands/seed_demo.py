from django.core.management.base import BaseCommand

from dreamseed.schools.demo import demo_seed


class Command(BaseCommand):
    help = "Create (or complete) the demo school with staff and students, and print the logins."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--students", type=int, default=30)

    def handle(self, *args, port, students, **options):
        logins = demo_seed(students=students)
        url = f"http://{logins.host}:{port}/"
        lines = [
            "",
            "DreamSeed is starting.",
            f"  Public site:  http://localhost:{port}/",
            f"  Demo school:  {url}",
            f"  Password for every demo account: {logins.password}",
            f"  School admin: {logins.admin}",
            f"  Teachers:     {', '.join(logins.teachers)}",
            f"  Students:     {logins.students[0]} ... {logins.students[-1]}",
            "",
        ]
        self.stdout.write("\n".join(lines))
