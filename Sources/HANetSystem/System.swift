import HANetCore
